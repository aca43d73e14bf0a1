package consensus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter implements hclog.Logger on top of a *slog.Logger, so that raft
// logs through the node's slog handler with its key/value pairs intact.
type hclogAdapter struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLog(l *slog.Logger, name string) hclog.Logger {
	return &hclogAdapter{l: l, name: name}
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	ctx := context.Background()
	if !h.l.Enabled(ctx, lv) {
		return
	}
	all := make([]any, 0, len(h.args)+len(args)+2)
	if h.name != "" {
		all = append(all, "component", h.name)
	}
	all = append(all, h.args...)
	all = append(all, args...)
	for i, a := range all {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 { // hclog.Fmt("%+v", x)
			if format, ok := f[0].(string); ok {
				all[i] = fmt.Sprintf(format, f[1:]...)
			}
		}
	}
	h.l.Log(ctx, lv, msg, all...)
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), slogLevel(level))
}
func (h *hclogAdapter) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogAdapter) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogAdapter) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogAdapter) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogAdapter) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogAdapter) ImpliedArgs() []any { return h.args }
func (h *hclogAdapter) Name() string       { return h.name }

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	n := *h
	n.args = append(append([]any(nil), h.args...), args...)
	return &n
}

func (h *hclogAdapter) Named(name string) hclog.Logger {
	n := *h
	if n.name != "" {
		n.name += "." + name
	} else {
		n.name = name
	}
	return &n
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	n := *h
	n.name = name
	return &n
}

// SetLevel is a no-op: the slog handler decides what is enabled.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

func (h *hclogAdapter) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if h.enabled(lv) {
			return lv
		}
	}
	return hclog.Error
}

func (h *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(nil), "", 0)
}

func (h *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &stdLogWriter{l: h.l.With("component", h.name)}
}

// stdLogWriter turns lines of the standard library logger, as written by
// memberlist ("[ERR] memberlist: ..."), into slog records at the right level.
type stdLogWriter struct{ l *slog.Logger }

func (w *stdLogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		lv, msg := parseStdLevel(string(line))
		if strings.Contains(msg, "decrypt") {
			w.l.Log(context.Background(), lv, msg, "reason", decryptHint)
			continue
		}
		w.l.Log(context.Background(), lv, msg)
	}
	return len(p), nil
}

// decryptHint explains memberlist's decryption failures.
const decryptHint = "gossip from a kiosk of another store or with another store secret: not admitted"

// parseStdLevel strips a "[LEVEL] " prefix and maps it to a slog level.
func parseStdLevel(line string) (slog.Level, string) {
	levels := []struct {
		tag string
		lv  slog.Level
	}{
		{"[TRACE]", slog.LevelDebug - 4}, {"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
	}
	for _, l := range levels {
		if rest, ok := strings.CutPrefix(line, l.tag); ok {
			return l.lv, strings.TrimSpace(rest)
		}
	}
	return slog.LevelInfo, line
}

// newStdLogger returns a *log.Logger (for memberlist) writing into l.
func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(&stdLogWriter{l: l}, "", 0)
}
