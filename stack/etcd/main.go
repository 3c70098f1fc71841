// Command etcd is etcd's server entry point. The upstream main module (go.etcd.io/etcd/v3)
// is not served by the module proxy available here, so this wrapper module requires
// go.etcd.io/etcd/server/v3 at the version pinned in stack/versions.env and calls its main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
