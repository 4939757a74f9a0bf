package entra

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzIsIssuerOf checks the allocation-free comparison against the string
// it stands for.
func FuzzIsIssuerOf(f *testing.F) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for _, seed := range [][3]string{
		{"https://login.microsoftonline.com/{tenantid}/v2.0", tid, "https://login.microsoftonline.com/" + tid + "/v2.0"},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", tid, "https://login.microsoftonline.com/{tenantid}/v2.0"},
		{"https://sts.windows.net/{tenantid}/", tid, "https://sts.windows.net/" + tid},
		{"https://login.microsoftonline.com/" + tid + "/v2.0", "", "https://login.microsoftonline.com/" + tid + "/v2.0"},
		{"{tenantid}{tenantid}", "ab", "abab"},
		{"{tenantid}", "{tenantid}", "{tenantid}"},
		{"a{tenantid", "x", "a{tenantid"},
		{"", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, template, tid, iss string) {
		if got, want := isIssuerOf(template, tid, iss), strings.ReplaceAll(template, tenantTemplate, tid) == iss; got != want {
			t.Fatalf("isIssuerOf(%q, %q, %q) = %v, want %v", template, tid, iss, got, want)
		}
	})
}

// FuzzIsTenantID checks isTenantID against the pattern it spells out.
func FuzzIsTenantID(f *testing.F) {
	pattern := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for _, s := range []string{
		"72f988bf-86f1-41af-91ab-2d7cd011db47", "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "72f988bf86f141af91ab2d7cd011db47",
		"72f988bf-86f1-41af-91ab-2d7cd011db4", "72f988bf-86f1-41af-91ab-2d7cd011db47\n", "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
		"72f988bf-86f1-41af-91ab_2d7cd011db47", "g2f988bf-86f1-41af-91ab-2d7cd011db47", "", "organizations",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isTenantID(s), pattern.MatchString(s); got != want {
			t.Fatalf("isTenantID(%q) = %v, want %v", s, got, want)
		}
	})
}
