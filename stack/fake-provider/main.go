// Command fake-provider is a provider-independent smoke check for the Secrets Store CSI
// Driver: it serves the driver's provider gRPC API (CSIDriverProvider v1alpha1) on a unix
// socket with the driver's own test double, sigs.k8s.io/secrets-store-csi-driver/provider/fake,
// and returns a fixed set of files on every Mount.
//
//	fake-provider --endpoint unix:///provider/fake.sock --object foo=secret --object bar=baz
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"sigs.k8s.io/secrets-store-csi-driver/provider/fake"
	"sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"
)

type objectList []string

func (o *objectList) String() string     { return strings.Join(*o, ",") }
func (o *objectList) Set(v string) error { *o = append(*o, v); return nil }

func main() {
	endpoint := flag.String("endpoint", "unix:///provider/fake.sock", "unix socket to serve the provider API on")
	var objects objectList
	flag.Var(&objects, "object", "NAME=VALUE of a file returned by Mount (repeatable; default foo=secret)")
	flag.Parse()
	if len(objects) == 0 {
		objects = objectList{"foo=secret"}
	}

	socket := strings.TrimPrefix(*endpoint, "unix://")
	if socket == *endpoint || socket == "" {
		log.Fatalf("--endpoint must be unix:///path, got %q", *endpoint)
	}

	versions := map[string]string{}
	var files []*v1alpha1.File
	for _, o := range objects {
		name, value, ok := strings.Cut(o, "=")
		if !ok || name == "" {
			log.Fatalf("--object must be NAME=VALUE, got %q", o)
		}
		versions["secret/"+name] = "v1"
		files = append(files, &v1alpha1.File{Path: name, Mode: 0o644, Contents: []byte(value)})
	}

	if err := os.Remove(socket); err != nil && !os.IsNotExist(err) {
		log.Fatalf("removing stale socket: %v", err)
	}
	server, err := fake.NewMocKCSIProviderServer(socket)
	if err != nil {
		log.Fatal(err)
	}
	server.SetObjects(versions)
	server.SetFiles(files)
	if err := server.Start(); err != nil {
		log.Fatalf("listening on %s: %v", socket, err)
	}
	fmt.Printf("fake-provider: serving %d object(s) on %s\n", len(files), socket)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	server.Stop()
	_ = os.Remove(socket)
}
