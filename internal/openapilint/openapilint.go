// Package openapilint runs the repository's pinned OpenAPI validators on a
// document, for tests: swagger-cli (the document against the OpenAPI or
// Swagger JSON Schema of its version), Spectral with its spectral:oas
// rules and Redocly with its recommended rules. They are npm packages
// pinned by tools/openapi/package-lock.json and installed by
// `make openapi-validators` (npm ci), which `make test` runs.
//
// A test fails on any error, and on any warning not in [Allowed]: every
// warning left is there on purpose, and docs/openapi.md says why.
package openapilint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Allowed are the warnings the served documents keep, by tool and rule,
// with the reason (docs/openapi.md lists them too).
var Allowed = map[string]string{
	"redocly info-license":      "the license is the API owner's to state (the openapiv2 option's info.license), not the library's",
	"spectral info-contact":     "the contact is the API owner's to state (the openapiv2 option's info.contact), not the library's",
	"spectral oas2-api-host":    "Swagger 2.0 only: no host, so that clients call the host the document was loaded from",
	"spectral oas2-api-schemes": "Swagger 2.0 only: no schemes, so that Swagger UI calls the scheme the page was loaded with (https on an https site), not the first listed",
}

// dir is where the validators' package.json is, relative to the
// repository's root.
const dir = "tools/openapi"

// Validate writes doc (named name in messages) to a temporary file and
// runs the three validators on it; tb fails on an error or on a warning
// not in Allowed.
func Validate(tb testing.TB, name string, doc []byte) {
	tb.Helper()
	tools, err := toolsDir()
	if err != nil {
		tb.Fatalf("openapilint: %v", err)
	}
	bin := filepath.Join(tools, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "redocly")); err != nil {
		tb.Fatalf("openapilint: the OpenAPI validators are not installed in %s: run `make openapi-validators` (npm ci)", tools)
	}
	file := filepath.Join(tb.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		tb.Fatal(err)
	}

	// swagger-cli: exit status 0 when the document matches its version's
	// schema, the errors on stderr otherwise.
	if out, stderr, err := run(tools, filepath.Join(bin, "swagger-cli"), "validate", file); err != nil {
		tb.Errorf("swagger-cli: %s is invalid: %v\n%s%s", name, err, out, stderr)
	}

	// Spectral: JSON diagnostics, severity 0 error, 1 warning, 2 info, 3 hint.
	out, stderr, err := run(tools, filepath.Join(bin, "spectral"), "lint", "--quiet", "--fail-severity", "error",
		"--ruleset", filepath.Join(tools, "spectral.yaml"), "--format", "json", file)
	var diags []struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Path     []any  `json:"path"`
		Severity int    `json:"severity"`
	}
	if jerr := json.Unmarshal(out, &diags); jerr != nil {
		tb.Errorf("spectral: %v %v\n%s%s", err, jerr, out, stderr)
	}
	for _, d := range diags {
		report(tb, name, "spectral", d.Code, d.Severity == 0, d.Severity == 1, fmt.Sprintf("%s at %v", d.Message, d.Path))
	}
	if err != nil && len(diags) == 0 {
		tb.Errorf("spectral: %v\n%s", err, stderr)
	}

	// Redocly: a JSON report with the totals and the problems.
	out, stderr, err = run(tools, filepath.Join(bin, "redocly"), "lint", "--config", filepath.Join(tools, "redocly.yaml"), "--format", "json", file)
	var redocly struct {
		Totals *struct {
			Errors, Warnings int
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if jerr := json.Unmarshal(out, &redocly); jerr != nil || redocly.Totals == nil {
		tb.Errorf("redocly: %v %v\n%s%s", err, jerr, out, stderr)
	}
	for _, p := range redocly.Problems {
		at := ""
		if len(p.Location) > 0 {
			at = " at " + p.Location[0].Pointer
		}
		report(tb, name, "redocly", p.RuleID, p.Severity == "error", p.Severity == "warn", p.Message+at)
	}
	if err != nil && len(redocly.Problems) == 0 {
		tb.Errorf("redocly: %v\n%s", err, stderr)
	}
}

// report fails tb on an error, or on a warning not in Allowed, and logs
// the allowed warnings.
func report(tb testing.TB, name, tool, rule string, isError, isWarning bool, msg string) {
	tb.Helper()
	key := tool + " " + rule
	switch {
	case isError:
		tb.Errorf("%s: %s error %s: %s", name, tool, rule, msg)
	case isWarning && Allowed[key] == "":
		tb.Errorf("%s: %s warning %s: %s (fix it, or list it in openapilint.Allowed and docs/openapi.md with the reason)", name, tool, rule, msg)
	case isWarning:
		tb.Logf("%s: %s warning %s, allowed: %s", name, tool, rule, Allowed[key])
	}
}

// run runs a validator in dir with its telemetry and update checks off.
func run(dir, tool string, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1", "NO_COLOR=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// toolsDir finds tools/openapi in the working directory or the nearest
// directory above it that has one: the repository's root, from a test of
// the library or of examples/notes.
func toolsDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, dir)
		if _, err := os.Stat(filepath.Join(p, "package.json")); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no " + dir + "/package.json above " + wd)
		}
	}
}
