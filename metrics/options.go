package metrics

import (
	"errors"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// StatsSource is what the scrape-time collector reads; *entra.Validator
// implements it.
type StatsSource interface {
	Stats() entra.Stats
	// Now is the validator's clock, which the key set's age is measured by.
	Now() time.Time
}

// Option configures [New].
type Option func(*options)

type options struct {
	validator StatsSource
	buckets   []float64
	errs      []error
}

// WithValidator exports the cache and key-set figures of v, read at scrape
// time. A nil v is an error from [New].
func WithValidator(v StatsSource) Option {
	return func(o *options) {
		if v == nil {
			o.errs = append(o.errs, errors.New("metrics: WithValidator: nil validator"))
		}
		o.validator = v
	}
}

// WithValidationBuckets sets the upper bounds, in seconds, of the token
// validation histogram; [DefaultValidationBuckets] by default. They must
// be increasing.
func WithValidationBuckets(bounds ...float64) Option {
	return func(o *options) {
		for i := 1; i < len(bounds); i++ {
			if bounds[i] <= bounds[i-1] {
				o.errs = append(o.errs, errors.New("metrics: WithValidationBuckets: bounds must increase"))
				return
			}
		}
		if len(bounds) == 0 {
			o.errs = append(o.errs, errors.New("metrics: WithValidationBuckets: no bounds"))
		}
		o.buckets = bounds
	}
}

// DefaultValidationBuckets spans a cached validation (microseconds), a
// signature check (tens to hundreds of microseconds) and a validation that
// waits for the identity provider's keys (milliseconds to seconds).
var DefaultValidationBuckets = []float64{
	5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 250e-3, 1, 5,
}
