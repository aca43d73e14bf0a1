package main

import (
	"fmt"
	"image"
	_ "image/jpeg" // decoders for the data sets
	_ "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// sample is one image file of one palm.
type sample struct {
	palm string
	path string
}

// listSet returns the images of DIR/<palm-id>/<image>, sorted by palm then
// file name.
func listSet(dir string) ([]sample, error) {
	palms, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []sample
	for _, p := range palms {
		if !isDir(dir, p) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p.Name(), err)
		}
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f.Name()))
			if f.IsDir() || (ext != ".png" && ext != ".jpg" && ext != ".jpeg" && ext != ".bmp") {
				continue
			}
			out = append(out, sample{palm: p.Name(), path: filepath.Join(dir, p.Name(), f.Name())})
		}
	}
	slices.SortFunc(out, func(a, b sample) int {
		if c := strings.Compare(a.palm, b.palm); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}

// isDir reports whether the entry of dir is a directory or a symbolic link
// to one (an evaluation set assembled from links to the data, e.g. a
// gallery of some palms only to measure non-mated searches).
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && fi.IsDir()
}

// palmRange keeps the samples whose palm is within positions [from,to]
// (1-based, inclusive) of the sorted union of palm ids of both sets.
func palmRange(gal, prb []sample, from, to int) ([]sample, []sample) {
	if from <= 0 && to <= 0 {
		return gal, prb
	}
	set := map[string]bool{}
	for _, s := range append(slices.Clone(gal), prb...) {
		set[s.palm] = true
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	keep := map[string]bool{}
	for i, id := range ids {
		if (from <= 0 || i+1 >= from) && (to <= 0 || i+1 <= to) {
			keep[id] = true
		}
	}
	filter := func(in []sample) []sample {
		var out []sample
		for _, s := range in {
			if keep[s.palm] {
				out = append(out, s)
			}
		}
		return out
	}
	return filter(gal), filter(prb)
}

func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}
