// Package mlog is a secretbench stand-in for monis.app/mlog, written from the way the
// Secrets Store CSI Driver v1.6.0 calls it (cmd/secrets-store-csi-driver/main.go and
// pkg/secrets-store/server.go): Setup, FormatText/FormatJSON,
// ValidateAndSetKlogLevelAndFormatGlobally, Error and Fatal. Logging goes through klog:
// the text format is klog's own; the JSON format is logr's funcr JSON sink (one object per
// line on stderr), which is close to, but not byte-identical with, upstream's.
package mlog

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"
)

// LogFormat selects the log output format.
type LogFormat string

const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

// Setup prepares logging and returns the function that flushes it at exit.
func Setup() func() {
	return klog.Flush
}

// ValidateAndSetKlogLevelAndFormatGlobally checks the klog verbosity and installs the format.
func ValidateAndSetKlogLevelAndFormatGlobally(_ context.Context, level klog.Level, format LogFormat) error {
	if level < 0 {
		return fmt.Errorf("invalid log level %d: must be >= 0", level)
	}
	switch format {
	case FormatText, "":
		return nil
	case FormatJSON:
		logger := funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) },
			funcr.Options{LogTimestamp: true, Verbosity: int(level)})
		klog.SetLogger(logger)
		return nil
	default:
		return fmt.Errorf("invalid log format %q", format)
	}
}

// Error logs err with a message and key/value pairs.
func Error(msg string, err error, keysAndValues ...any) {
	klog.ErrorSDepth(1, err, msg, keysAndValues...)
}

// Fatal logs err and exits with status 1 after flushing the logs.
func Fatal(err error, keysAndValues ...any) {
	klog.ErrorSDepth(1, err, "fatal error", keysAndValues...)
	klog.FlushAndExit(klog.ExitFlushTimeout, 1)
}
