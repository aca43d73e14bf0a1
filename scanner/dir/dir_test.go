package dir

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/palmtill/palmtill/scanner"
)

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDriver(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "a", "01.png"), 20, 10)
	writePNG(t, filepath.Join(root, "a", "02.png"), 30, 10)
	writePNG(t, filepath.Join(root, "b", "01.png"), 40, 10)
	if err := os.WriteFile(filepath.Join(root, "b", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("missing folder", func(t *testing.T) {
		d, err := New(Config{Dir: filepath.Join(root, "nope")})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Open(ctx); !errors.Is(err, scanner.ErrNoDevice) {
			t.Fatalf("Open = %v, want ErrNoDevice", err)
		}
	})
	t.Run("order and EOF", func(t *testing.T) {
		d, _ := New(Config{Dir: root, Band: scanner.BandNIR})
		if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrNotOpen) {
			t.Fatalf("Capture before Open = %v", err)
		}
		if err := d.Open(ctx); err != nil {
			t.Fatal(err)
		}
		for i, w := range []int{20, 30, 40} {
			f, err := d.Capture(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if f.Image.Bounds().Dx() != w || f.Seq != uint64(i+1) || f.Band != scanner.BandNIR || f.Source == "" {
				t.Fatalf("frame %d: width %d seq %d band %v source %q", i, f.Image.Bounds().Dx(), f.Seq, f.Band, f.Source)
			}
		}
		if _, err := d.Capture(ctx); err != io.EOF {
			t.Fatalf("after last = %v, want io.EOF", err)
		}
		d.Close()
		if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrNotOpen) {
			t.Fatalf("Capture after Close = %v", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		d, _ := New(Config{Dir: root, Loop: true})
		if err := d.Open(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 7; i++ {
			if _, err := d.Capture(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("file removed", func(t *testing.T) {
		sub := t.TempDir()
		p := filepath.Join(sub, "x.png")
		writePNG(t, p, 10, 10)
		d, _ := New(Config{Dir: sub})
		if err := d.Open(ctx); err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrDisconnected) {
			t.Fatalf("Capture of removed file = %v, want ErrDisconnected", err)
		}
	})
}

func TestDecodeLimits(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"empty", nil, false},
		{"garbage", []byte("not an image"), false},
		{"png", encPNG(image.NewGray(image.Rect(0, 0, 5, 5))), true},
		{"jpeg", encJPEG(image.NewGray(image.Rect(0, 0, 8, 8))), true},
		{"huge header", hugePNGHeader(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if (err == nil) != tc.ok {
				t.Fatalf("Decode err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func encPNG(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func encJPEG(img image.Image) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

// hugePNGHeader is a 1×1 PNG whose header claims 100000×100000 pixels.
func hugePNGHeader() []byte {
	b := encPNG(image.NewGray(image.Rect(0, 0, 1, 1)))
	// IHDR width/height at bytes 16..23; the CRC no longer matches, and
	// DecodeConfig must not care about more than the header.
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	return b
}

// FuzzDecode checks that Decode, and the pipeline after it, never panic on
// arbitrary file contents.
func FuzzDecode(f *testing.F) {
	f.Add(encPNG(image.NewGray(image.Rect(0, 0, 4, 4))))
	f.Add(encJPEG(image.NewGray(image.Rect(0, 0, 16, 16))))
	rgba := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
	}
	f.Add(encPNG(rgba))
	f.Add(encPNG(image.NewPaletted(image.Rect(0, 0, 3, 3), color.Palette{color.Black, color.White})))
	f.Add([]byte("GIF89a"))
	f.Add(hugePNGHeader())
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data)
		if err != nil {
			return
		}
		res, err := p.Process(scanner.Frame{Image: img})
		if err == nil && res.ROI == nil {
			t.Fatal("nil ROI without error")
		}
		if err != nil && !errors.Is(err, scanner.ErrNoPalm) {
			t.Fatalf("pipeline error %v does not wrap ErrNoPalm", err)
		}
	})
}

// TestRealFolderThroughPipeline replays the shared Tongji whole-hand samples
// through the capture pipeline, as a kiosk with a dir scanner would.
func TestRealFolderThroughPipeline(t *testing.T) {
	root := os.Getenv("PALMTILL_DATA")
	if root == "" {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	}
	folder := filepath.Join(root, "tongji-hand-samples")
	if _, err := os.Stat(folder); err != nil {
		t.Skipf("real palm data not found at %s (set PALMTILL_DATA): %v", folder, err)
	}
	ctx := context.Background()
	d, err := New(Config{Dir: folder})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		res, err := p.Capture(ctx, d, 1)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n+1, err)
		}
		if res.ROI == nil || res.Frame.Source == "" {
			t.Fatalf("frame %d: no ROI or source", n+1)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no frames")
	}
}
