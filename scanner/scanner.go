// Package scanner turns camera frames of a hand held over a kiosk's palm
// scanner into a normalised palm region of interest (ROI) that matchcore
// can turn into a template.
//
// # Overview
//
// A Driver delivers Frames (a real camera, the synthetic scanner in
// scanner/sim, or a folder of image files in scanner/dir). A Pipeline finds
// the hand in a frame, locates the valleys between the fingers, cuts out a
// rotation-normalised square ROI, scores the frame's quality (focus,
// exposure, palm size, motion) and says what the customer should do next
// (Guidance). Pipeline.Capture runs that over up to N frames from a driver
// and returns the best one.
//
// The package is a pure library: it does no network I/O and knows nothing of
// the cluster.
package scanner

import (
	"context"
	"errors"
	"image"
	"time"
)

// Band is the spectral band a frame was captured in.
type Band int

const (
	// BandVisible is an ordinary visible-light (or green-band) gray frame:
	// palm lines and wrinkles are visible.
	BandVisible Band = iota
	// BandNIR is a near-infrared frame: the palm's vein pattern shows
	// through, surface lines are fainter.
	BandNIR
)

// String returns "visible" or "nir".
func (b Band) String() string {
	switch b {
	case BandVisible:
		return "visible"
	case BandNIR:
		return "nir"
	default:
		return "unknown"
	}
}

// Frame is one camera frame with its metadata. Its resolution is
// Image.Bounds().
type Frame struct {
	// Image is the frame; the pipeline reads it as gray. The driver must not
	// modify it after returning it.
	Image image.Image
	// Band is the spectral band the frame was taken in.
	Band Band
	// Timestamp is when the frame was captured.
	Timestamp time.Time
	// Seq numbers the frames a driver has returned since Open, from 1.
	Seq uint64
	// Source names where the frame came from when that is meaningful (the
	// file path for scanner/dir); empty for cameras.
	Source string
}

// Driver is a palm scanner. Methods are called from one goroutine at a time
// unless an implementation says otherwise.
type Driver interface {
	// Open connects to the device. It returns an error wrapping ErrNoDevice
	// when the device does not exist. Opening an open driver is a no-op.
	Open(ctx context.Context) error
	// Capture returns the next frame, whatever the camera sees (an empty
	// scene when no hand is presented; the pipeline decides whether a palm
	// is usable). It returns ErrNotOpen before Open and after Close, and an
	// error wrapping ErrDisconnected when the device went away. It may block
	// until a frame is available or ctx is done.
	Capture(ctx context.Context) (Frame, error)
	// Close releases the device. Closing twice is a no-op.
	Close() error
}

// Sentinel errors. Test with errors.Is: returned errors usually wrap them
// with detail.
var (
	// ErrNotOpen is returned by Driver.Capture before Open or after Close.
	ErrNotOpen = errors.New("scanner: device not open")
	// ErrDisconnected is returned when an open device went away.
	ErrDisconnected = errors.New("scanner: device disconnected")
	// ErrNoDevice is returned by Driver.Open when there is no such device.
	ErrNoDevice = errors.New("scanner: no such device")
	// ErrNoPalm is returned by the pipeline when a frame has no usable palm;
	// the wrapping error says why, and the Result carries Guidance.
	ErrNoPalm = errors.New("scanner: no usable palm")
)

// Guidance is a short instruction for the customer, shown or spoken by the
// kiosk while it captures.
type Guidance string

// The guidance messages the pipeline produces.
const (
	GuidanceOK            Guidance = "ok"
	GuidanceNoHand        Guidance = "no hand"
	GuidanceMoveCloser    Guidance = "move closer"
	GuidanceMoveAway      Guidance = "move away"
	GuidanceHoldStill     Guidance = "hold still"
	GuidanceSpreadFingers Guidance = "spread your fingers"
	GuidanceCentre        Guidance = "centre your palm"
	GuidanceLighting      Guidance = "adjust the lighting"
)
