// Package csiconn dials a CSI driver's unix socket and waits until it answers.
package csiconn

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	csi "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Target turns "/csi/csi.sock" or "unix:///csi/csi.sock" into a gRPC target.
func Target(address string) string {
	if strings.HasPrefix(address, "unix:") {
		return address
	}
	return "unix://" + address
}

// Dial returns a client connection to the CSI socket (no I/O yet).
func Dial(address string) (*grpc.ClientConn, error) {
	return grpc.NewClient(Target(address),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithAuthority("localhost"))
}

// DriverName calls Identity.GetPluginInfo, retrying every second until ctx ends.
func DriverName(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	id := csi.NewIdentityClient(conn)
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := id.GetPluginInfo(callCtx, &csi.GetPluginInfoRequest{})
		cancel()
		if err == nil {
			if info.GetName() == "" {
				return "", fmt.Errorf("CSI driver returned an empty name")
			}
			return info.GetName(), nil
		}
		log.Printf("waiting for the CSI driver: GetPluginInfo: %v", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("CSI driver did not answer GetPluginInfo: %w", err)
		case <-time.After(time.Second):
		}
	}
}
