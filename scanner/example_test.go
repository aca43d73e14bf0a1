package scanner_test

import (
	"context"
	"fmt"

	"github.com/palmtill/palmtill/scanner"
	"github.com/palmtill/palmtill/scanner/sim"
)

// A kiosk's capture loop: the simulated scanner shows a person's hand, the
// pipeline takes the best of up to five frames and returns the palm ROI for
// matchcore.
func ExamplePipeline_Capture() {
	ctx := context.Background()
	drv, err := sim.New(sim.DefaultConfig())
	if err != nil {
		panic(err)
	}
	if err := drv.Open(ctx); err != nil {
		panic(err)
	}
	defer drv.Close()
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		panic(err)
	}

	drv.Present(42)
	res, err := p.Capture(ctx, drv, 5)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Guidance, res.ROI.Bounds().Dx(), res.ROI.Bounds().Dy())

	drv.Withdraw()
	res, err = p.Capture(ctx, drv, 2)
	fmt.Println(res.Guidance, err != nil)
	// Output:
	// ok 128 128
	// no hand true
}
