package bearer

import (
	"errors"
	"fmt"
	"time"
)

// Option configures a [Source] (and the Sources of an [OnBehalfOf]).
type Option func(*options)

type options struct {
	margin    time.Duration
	timeout   time.Duration
	now       func() time.Time
	plaintext bool
	cacheSize int
	cp1       bool
}

// Defaults.
const (
	// DefaultRefreshMargin is how long before its expiry a token is
	// replaced, as the Azure SDK does.
	DefaultRefreshMargin = 5 * time.Minute
	// DefaultFetchTimeout bounds one request for a token.
	DefaultFetchTimeout = 30 * time.Second
	// DefaultCacheSize is how many incoming tokens an [OnBehalfOf] keeps
	// a downstream Source for.
	DefaultCacheSize = 1000
)

// WithRefreshMargin sets how long before its expiry a token is replaced,
// [DefaultRefreshMargin] by default; 0 uses tokens until they expire.
// A token that lives less than twice the margin is replaced halfway
// through its life.
func WithRefreshMargin(d time.Duration) Option { return func(o *options) { o.margin = d } }

// WithFetchTimeout bounds each request for a token, [DefaultFetchTimeout]
// by default. The request does not end with the call that started it:
// other calls wait for the same token.
func WithFetchTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the clock that expiry is measured with, time.Now by
// default.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithCacheSize sets how many incoming tokens an [OnBehalfOf] keeps a
// downstream Source for, [DefaultCacheSize] by default; the least
// recently used goes first. Sources ignore it.
func WithCacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

// InsecureAllowPlaintext lets tokens go over unencrypted connections to
// any host. Anyone on the path can read and replay them: use it only
// where another layer encrypts (a service mesh's sidecar that is not on
// loopback, say).
func InsecureAllowPlaintext() Option { return func(o *options) { o.plaintext = true } }

// WithCP1 declares that the client can answer claims challenges: its
// token requests carry the client capability cp1
// ({"access_token":{"xms_cc":{"values":["cp1"]}}}, merged with any
// challenge's claims), so its tokens carry "xms_cc": ["cp1"] when the
// API's registration asks for that optional claim, and an API that needs
// an authentication context the token lacks answers with a claims
// challenge instead of refusing. [FromAzure] declares it with the
// credential's EnableCAE, [FromOAuth2Func] in the claims it is given;
// [FromOAuth2] refuses it (an oauth2.TokenSource cannot send claims).
func WithCP1() Option { return func(o *options) { o.cp1 = true } }

func newOptions(opts []Option) (options, error) {
	o := options{margin: DefaultRefreshMargin, timeout: DefaultFetchTimeout, now: time.Now, cacheSize: DefaultCacheSize}
	for _, opt := range opts {
		if opt == nil {
			return o, errors.New("bearer: nil option")
		}
		opt(&o)
	}
	switch {
	case o.margin < 0 || o.margin > time.Hour:
		return o, fmt.Errorf("bearer: WithRefreshMargin(%v): want between 0 and an hour", o.margin)
	case o.timeout <= 0:
		return o, fmt.Errorf("bearer: WithFetchTimeout(%v): want a positive duration", o.timeout)
	case o.now == nil:
		return o, errors.New("bearer: WithClock(nil)")
	case o.cacheSize < 1:
		return o, fmt.Errorf("bearer: WithCacheSize(%d): want at least 1", o.cacheSize)
	}
	return o, nil
}
