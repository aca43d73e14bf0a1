package main

import (
	"errors"
	"fmt"
	"image"
)

// newROISource returns how loaded images become palm ROIs for --input.
func newROISource(input string) (roiSource, error) {
	switch input {
	case "roi":
		return func(img image.Image) (image.Image, error) { return img, nil }, nil
	case "hand":
		return nil, errors.New("--input hand: not available yet (the scanner package has no ROI extraction committed)")
	default:
		return nil, fmt.Errorf("--input %q: want roi or hand", input)
	}
}
