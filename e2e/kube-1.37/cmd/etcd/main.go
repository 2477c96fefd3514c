// etcd for the end-to-end control plane: etcd's own entry point, built at the server version that
// k8s.io/kubernetes itself requires (go.mod), so that the API server talks to the etcd it was
// released with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
