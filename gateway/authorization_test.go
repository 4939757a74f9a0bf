package gateway

import (
	"net/http"
	"testing"
)

func FuzzCheckAuthorization(f *testing.F) {
	f.Add("Bearer a.b.c", "")
	f.Add("Bearer a.b.c", "\xff")
	f.Add("Bearer\ta.b.c", "")
	f.Add("Bearer a.b.c\xc3\xa9", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, first, second string) {
		h := http.Header{"Authorization": {first}}
		if second != "" {
			h["authorization"] = []string{second}
		}
		err := checkAuthorization(h)
		if second != "" {
			if err != errManyAuthorization {
				t.Fatalf("two values (%q, %q) gave %v", first, second, err)
			}
			return
		}
		printable := true
		for i := 0; i < len(first); i++ {
			printable = printable && first[i] >= 0x20 && first[i] <= 0x7e
		}
		// Accepted exactly when grpc-gateway would forward it whole.
		if (err == nil) != printable {
			t.Fatalf("%q: %v", first, err)
		}
	})
}
