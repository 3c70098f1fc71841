// Command csi-node-driver-registrar registers a CSI driver with the kubelet through the
// kubelet plugin watcher, the job of kubernetes-csi/node-driver-registrar, whose module the
// module proxy here does not serve. It is a secretbench stand-in with the flags the
// Secrets Store CSI Driver chart passes:
//
//  1. ask the driver for its name (CSI Identity.GetPluginInfo on --csi-address);
//  2. serve the kubelet plugin registration API (pluginregistration.k8s.io/v1) on
//     <--plugin-registration-path>/<driver>-reg.sock, answering GetInfo with the
//     driver's socket path as the kubelet sees it (--kubelet-registration-path);
//  3. exit non-zero when the kubelet reports a failed registration, so the container
//     restarts and registration is retried; remove the socket on SIGTERM/SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"secretbench.local/stack/csi-sidecars/internal/csiconn"
)

type registrar struct {
	registerapi.UnimplementedRegistrationServer
	driver   string
	endpoint string
	failed   chan string
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked GetInfo; answering %s at %s", r.driver, r.endpoint)
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driver,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if s.GetPluginRegistered() {
		log.Printf("kubelet registered %s", r.driver)
	} else {
		log.Printf("kubelet failed to register %s: %s", r.driver, s.GetError())
		select {
		case r.failed <- s.GetError():
		default:
		}
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

func main() {
	csiAddress := flag.String("csi-address", "/run/csi/socket", "path of the CSI driver socket inside this container")
	kubeletPath := flag.String("kubelet-registration-path", "", "path of the CSI driver socket on the node, as the kubelet sees it")
	regDir := flag.String("plugin-registration-path", "/registration", "directory of the kubelet plugin watcher, inside this container")
	timeout := flag.Duration("timeout", 0, "give up waiting for the CSI driver after this long (0: never)")
	healthz := flag.String("http-endpoint", "", "optional address for /healthz (reports whether the registration socket exists)")
	flag.Int("v", 0, "log verbosity (accepted for compatibility; ignored)")
	flag.Parse()
	if *kubeletPath == "" {
		log.Fatal("--kubelet-registration-path is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	waitCtx := ctx
	if *timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	conn, err := csiconn.Dial(*csiAddress)
	if err != nil {
		log.Fatalf("dialing %s: %v", *csiAddress, err)
	}
	driver, err := csiconn.DriverName(waitCtx, conn)
	_ = conn.Close()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("CSI driver name: %s", driver)

	socket := filepath.Join(*regDir, driver+"-reg.sock")
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatalf("removing stale %s: %v", socket, err)
	}
	lis, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatalf("listening on %s: %v", socket, err)
	}
	r := &registrar{driver: driver, endpoint: *kubeletPath, failed: make(chan string, 1)}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, r)
	go func() {
		if err := srv.Serve(lis); err != nil {
			log.Printf("registration server: %v", err)
		}
	}()
	log.Printf("registration socket: %s", socket)

	if *healthz != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if _, err := os.Stat(socket); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})
		hs := &http.Server{Addr: *healthz, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { log.Printf("healthz: %v", hs.ListenAndServe()) }()
	}

	code := 0
	select {
	case <-ctx.Done():
		log.Print("shutting down")
	case msg := <-r.failed:
		log.Printf("exiting after failed registration: %s", msg)
		code = 1
	}
	srv.Stop()
	_ = os.Remove(socket)
	os.Exit(code)
}
