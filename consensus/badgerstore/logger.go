package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger adapts a *slog.Logger to badger.Logger, dropping messages
// below min before they are formatted.
type badgerLogger struct {
	l   *slog.Logger
	min slog.Level
}

func newBadgerLogger(l *slog.Logger, min slog.Level) *badgerLogger {
	return &badgerLogger{l: l.With("lib", "badger"), min: min}
}

func (b *badgerLogger) log(level slog.Level, format string, args []any) {
	if level < b.min || !b.l.Enabled(context.Background(), level) {
		return
	}
	// Badger's format strings usually end in a newline.
	b.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// Errorf implements badger.Logger.
func (b *badgerLogger) Errorf(format string, args ...any) { b.log(slog.LevelError, format, args) }

// Warningf implements badger.Logger.
func (b *badgerLogger) Warningf(format string, args ...any) { b.log(slog.LevelWarn, format, args) }

// Infof implements badger.Logger.
func (b *badgerLogger) Infof(format string, args ...any) { b.log(slog.LevelInfo, format, args) }

// Debugf implements badger.Logger.
func (b *badgerLogger) Debugf(format string, args ...any) { b.log(slog.LevelDebug, format, args) }
