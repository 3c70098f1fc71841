// A secretbench stand-in for monis.app/mlog, which the Secrets Store CSI Driver's main
// package imports and which the module proxy here refuses (403 for every version).
// It implements only the API the driver v1.6.0 uses, on top of klog; see mlog.go.
module monis.app/mlog

go 1.22

require (
	github.com/go-logr/logr v1.4.3
	k8s.io/klog/v2 v2.120.1
)
