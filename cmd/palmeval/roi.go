package main

import (
	"fmt"
	"image"

	"github.com/palmtill/palmtill/scanner"
)

// newROISource returns how loaded images become palm ROIs for --input:
// roi passes them through; hand runs the scanner package's capture pipeline
// (hand segmentation, finger valleys, ROI crop) on each whole-hand frame.
func newROISource(input string) (roiSource, error) {
	switch input {
	case "roi":
		return func(img image.Image) (image.Image, error) { return img, nil }, nil
	case "hand":
		p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
		if err != nil {
			return nil, fmt.Errorf("--input hand: %w", err)
		}
		return func(img image.Image) (image.Image, error) {
			res, err := p.Process(scanner.Frame{Image: img})
			if err != nil {
				return nil, err
			}
			if res.ROI == nil {
				return nil, fmt.Errorf("no ROI found")
			}
			return res.ROI, nil
		}, nil
	default:
		return nil, fmt.Errorf("--input %q: want roi or hand", input)
	}
}
