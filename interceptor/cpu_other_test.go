//go:build !unix

package interceptor_test

import "testing"

// cpuPerOp reports nothing where getrusage is missing.
func cpuPerOp(*testing.B) (report func()) { return func() {} }
