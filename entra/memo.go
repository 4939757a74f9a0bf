package entra

import "github.com/grpc-azure-auth/grpc-azure-auth/internal/tokenmemo"

func init() {
	tokenmemo.Of = func(c any) *tokenmemo.Memo {
		if c, ok := c.(*Claims); ok && c != nil {
			return c.memo
		}
		return nil
	}
}
