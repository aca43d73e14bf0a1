package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/palmtill/palmtill/matchcore"
)

func pct(v float64) string { return fmt.Sprintf("%.3f%%", 100*v) }

func printReport(w io.Writer, o options, r report, st stats, thr float64, canonicalBytes int) {
	fmt.Fprintf(w, "palmeval: gallery %s, probe %s", o.gallery, o.probe)
	if o.palmsFrom > 0 || o.palmsTo > 0 {
		fmt.Fprintf(w, ", palms %d-%d", o.palmsFrom, o.palmsTo)
	}
	if !o.perturb.zero() {
		fmt.Fprintf(w, ", perturb rot=%g scale=%g shift=%g seed=%d", o.perturb.rot, o.perturb.scale, o.perturb.shift, o.seed)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  gallery        %d palms, %d images\n", r.GalleryPalms, r.GalleryImages)
	fmt.Fprintf(w, "  probes         %d (%d mated, %d non-mated), %d failures to extract\n", r.Probes, r.Mated, r.Nonmated, r.FTE)
	fmt.Fprintf(w, "  scores         %d genuine, %d impostor (probe x gallery palm, best over the palm's images)\n", len(st.genuine), len(st.impostor))
	fmt.Fprintf(w, "  rank-1         %s (Identify, with the coarse pass); %s exhaustive\n", pct(r.Rank1), pct(st.rank1Exact))
	fmt.Fprintf(w, "  EER            %s at score %.4f\n", pct(r.EER), st.eerThreshold)
	fmt.Fprintf(w, "  FNMR@FMR=1e-3  %s (threshold %.4f)\n", pct(r.FNMR1e3), st.thr1e3)
	fmt.Fprintf(w, "  FNMR@FMR=1e-4  %s (threshold %.4f)\n", pct(r.FNMR1e4), st.thr1e4)
	if r.FNIR != nil {
		fmt.Fprintf(w, "  FNIR@FPIR=0.01 %s\n", pct(*r.FNIR))
		acc := 0
		for _, s := range st.nonmatedTop {
			if s >= thr {
				acc++
			}
		}
		fmt.Fprintf(w, "  non-mated      %d of %d probes matched somebody at the default threshold (FPIR %s)\n", acc, len(st.nonmatedTop), pct(float64(acc)/float64(len(st.nonmatedTop))))
	} else {
		fmt.Fprintf(w, "  FNIR@FPIR=0.01 n/a (no non-mated probes)\n")
	}
	fmt.Fprintf(w, "  d'             %.3f\n", r.DPrime)
	fmt.Fprintf(w, "  default threshold %.4f: FMR %s, FNMR %s\n", thr, pct(fracAtOrAbove(st.impostor, thr)), pct(fracBelow(st.genuine, thr)))
	fmt.Fprintf(w, "  threshold sweep:")
	for _, t := range []float64{0.36, 0.38, 0.40, 0.42, 0.44, 0.46, 0.48, 0.50} {
		fmt.Fprintf(w, " %.2f: FMR %.2e FNMR %s;", t, fracAtOrAbove(st.impostor, t), pct(fracBelow(st.genuine, t)))
	}
	fmt.Fprintln(w)
	if n := r.GalleryPalms; n > 0 {
		fmr := matchcore.FMRForFPIR(0.01, n)
		t := matchcore.ThresholdForFMR(st.impostor, fmr)
		fmt.Fprintf(w, "  calibrated for FPIR 1%% at N=%d: FMR %.2e, threshold %.4f, FNMR %s\n", n, fmr, t, pct(fracBelow(st.genuine, t)))
	}
	if fit, err := matchcore.FitImpostorTail(st.impostor, 1e-2); err == nil {
		fmt.Fprintf(w, "  impostor tail   log10 FMR = %.2f - %.1f*score (fitted from FMR 1e-2 to %.1e); at the default threshold FMR ~%.1e\n",
			fit.A, fit.B, fit.MinFMR, fit.FMR(thr))
		for _, n := range []int{1000, 100000, 1000000} {
			fmr := matchcore.FMRForFPIR(0.01, n)
			t := fit.Threshold(fmr)
			how := "measured range"
			if fmr < fit.MinFMR {
				how = "extrapolated"
			}
			fmt.Fprintf(w, "  FPIR 1%% at N=%-7d FMR %.1e -> threshold %.4f (%s), FNMR %s\n", n, fmr, t, how, pct(fracBelow(st.genuine, t)))
		}
	}
	if len(st.impostor) > 0 {
		fmt.Fprintf(w, "  max impostor score %.4f, min genuine score %.4f\n", st.impostor[len(st.impostor)-1], st.genuine[0])
	}
	fmt.Fprintf(w, "  extract p50    %.2f ms (one ROI at a time, first 200 of each set)\n", r.ExtractMs)
	fmt.Fprintf(w, "  identify p50   %.3f ms (one probe vs %d templates)\n", r.IdentifyMs, r.GalleryImages)
	fmt.Fprintf(w, "  template       %d bytes as extracted (with pose variants), %d bytes canonical (what an enrolment stores)\n", r.TemplateBytes, canonicalBytes)
}

// printWorst lists the n mated probes with the lowest genuine scores.
func printWorst(w io.Writer, res []probeResult, n int) {
	var mated []probeResult
	for _, r := range res {
		if r.mated {
			mated = append(mated, r)
		}
	}
	slices.SortFunc(mated, func(a, b probeResult) int { return cmp.Compare(a.scores[a.palm], b.scores[b.palm]) })
	fmt.Fprintf(w, "lowest genuine scores:\n")
	for _, r := range mated[:min(n, len(mated))] {
		fmt.Fprintf(w, "  %s genuine %.4f, top %s %.4f\n", r.path, r.scores[r.palm], r.top.ID, r.top.Score)
	}
}
