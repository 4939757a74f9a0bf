package entratest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// fmtAny prints v, JSON numbers as integers when they are.
func fmtAny(v any) string {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprint(v)
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
