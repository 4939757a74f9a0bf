// Package exampletb gives runnable Examples the testing.TB-like value that
// test helpers such as entratest.NewServer take: an Example has no *testing.T,
// and a zero testing.T never runs its cleanups.
package exampletb

import "fmt"

// TB collects cleanups and runs them, last first, when Close is called.
// Fatalf panics, failing the Example loudly. Use it as
//
//	tb := new(exampletb.TB)
//	defer tb.Close()
//	idp := entratest.NewServer(tb)
type TB struct{ cleanups []func() }

// Helper does nothing: there is no test to attribute lines to.
func (*TB) Helper() {}

// Cleanup registers f to run at Close.
func (tb *TB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }

// Fatalf panics with the message.
func (*TB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Errorf panics with the message too: an Example has no test to mark
// failed and go on.
func (*TB) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Close runs the registered cleanups, the last registered first.
func (tb *TB) Close() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	tb.cleanups = nil
}
