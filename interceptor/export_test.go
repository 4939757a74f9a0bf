package interceptor

import "time"

// SetShadowLogClock sets the clock of a's shadow log.
func SetShadowLogClock(a *Authorizer, now func() time.Time) { a.shadowLog.now = now }
