// Command livenessprobe serves /healthz for a CSI driver by calling its CSI Identity.Probe,
// the job of kubernetes-csi/livenessprobe, whose module the module proxy here does not serve.
// It is a secretbench stand-in with the flags the Secrets Store CSI Driver chart passes.
// /healthz answers 200 "ok" when Probe succeeds and does not report ready=false, else 500.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	csi "github.com/container-storage-interface/spec/lib/go/csi"

	"secretbench.local/stack/csi-sidecars/internal/csiconn"
)

func main() {
	csiAddress := flag.String("csi-address", "/run/csi/socket", "path of the CSI driver socket")
	probeTimeout := flag.Duration("probe-timeout", time.Second, "timeout of one Probe call")
	endpoint := flag.String("http-endpoint", "", "address to serve /healthz on (default :<--health-port>)")
	port := flag.Int("health-port", 9808, "port of /healthz when --http-endpoint is not set")
	flag.Int("v", 0, "log verbosity (accepted for compatibility; ignored)")
	flag.Parse()
	addr := *endpoint
	if addr == "" {
		addr = fmt.Sprintf(":%d", *port)
	}

	conn, err := csiconn.Dial(*csiAddress)
	if err != nil {
		log.Fatalf("dialing %s: %v", *csiAddress, err)
	}
	defer conn.Close()
	id := csi.NewIdentityClient(conn)

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), *probeTimeout)
		defer cancel()
		rsp, err := id.Probe(ctx, &csi.ProbeRequest{})
		if err != nil {
			log.Printf("health check failed: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if ready := rsp.GetReady(); ready != nil && !ready.GetValue() {
			log.Print("health check failed: driver reports not ready")
			http.Error(w, "driver is not ready", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	log.Printf("serving /healthz on %s for %s", addr, *csiAddress)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
