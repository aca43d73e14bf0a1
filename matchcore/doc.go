// Package matchcore turns palm region-of-interest (ROI) images into compact
// binary templates, compares templates, and searches an in-memory gallery of
// enrolled templates (1:N identification).
//
// The package is pure: it does no I/O, starts goroutines only inside
// Gallery searches (and joins them before returning), and imports nothing
// from the cluster packages. See DESIGN.md for the methods, the template
// format, the gallery layout and the threshold calibration.
//
// Typical use:
//
//	ex, _ := matchcore.NewExtractor(matchcore.DefaultExtractorConfig())
//	g, _ := matchcore.NewGallery(matchcore.DefaultGalleryConfig())
//	t, err := ex.Extract(roi) // errors.Is(err, matchcore.ErrNotPalm) for unusable images
//	g.Add("customer-1", t)
//	m, ok := g.Identify(probe) // ok=false: nobody above the threshold
package matchcore

import "errors"

// Sentinel errors. Functions wrap them with %w; test with errors.Is.
var (
	// ErrBadTemplate is returned when a serialised template is malformed,
	// truncated, of another TemplateVersion, or internally inconsistent.
	ErrBadTemplate = errors.New("bad template")
	// ErrNotPalm is returned by Extract when the image is unusable: blank,
	// too small, or without enough texture to code.
	ErrNotPalm = errors.New("not a usable palm image")
	// ErrBadConfig is returned by the Validate methods and constructors for
	// out-of-range configuration.
	ErrBadConfig = errors.New("bad config")
	// ErrIncompatible is returned by Gallery.Add when a template was made
	// with a different code geometry than the gallery's other templates.
	ErrIncompatible = errors.New("incompatible template")
)
