package openapilint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/openapilint"
)

// recorder is a testing.TB that records what Validate reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(string, ...any) {}

const valid = `{"openapi": "3.1.0",
  "info": {"title": "t", "version": "1", "description": "d", "license": {"name": "MIT", "identifier": "MIT"}, "contact": {"name": "c"}},
  "servers": [{"url": "/"}],
  "tags": [{"name": "T", "description": "d"}],
  "paths": {"/v1/x": {"get": {"operationId": "T_X", "summary": "s", "description": "d", "tags": ["T"],
    "security": [{}],
    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": {"description": "Bad", "content": {"application/json": {"schema": {"type": "object"}}}}}}}}}`

func TestEachValidatorReportsWhatItFinds(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each in a report; none: no report at all
	}{
		{"a valid, complete document passes all three", valid, nil},
		{"a schema violation fails swagger-cli and Redocly", strings.Replace(valid, `"servers": [{"url": "/"}]`, `"servers": "/"`, 1),
			[]string{"swagger-cli:", "redocly error"}},
		{"an operation without a success answer fails Spectral", strings.Replace(valid, `"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},`, "", 1),
			[]string{"spectral warning operation-success-response"}},
		{"an allowed warning passes", strings.Replace(valid, `"license": {"name": "MIT", "identifier": "MIT"}, `, "", 1), nil},
		{"a warning not allowed fails, naming where to list it", strings.Replace(valid, `"summary": "s", "description": "d", `, `"summary": "s", `, 1),
			[]string{"spectral warning operation-description", "openapilint.Allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			openapilint.Validate(r, "doc", []byte(tt.doc))
			all := strings.Join(r.errors, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no report containing %q; reports:\n%s", w, all)
				}
			}
			if len(tt.want) == 0 && len(r.errors) > 0 {
				t.Errorf("the document was refused:\n%s", all)
			}
		})
	}
}
