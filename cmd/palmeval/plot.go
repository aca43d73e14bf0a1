package main

import "errors"

func writePlot(path string, st stats) error {
	return errors.New("--plot: not implemented yet")
}
