// Reads a JSON array of paths on stdin and writes filepath.Clean of each as a JSON array: the
// runtime's own cleaning (containerd and runc call it on every mount destination), for
// test/core/mount-path.test.ts to compare normalizeMountPath against.
package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

func main() {
	var paths []string
	if err := json.NewDecoder(os.Stdin).Decode(&paths); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	cleaned := make([]string, len(paths))
	for i, p := range paths {
		cleaned[i] = filepath.Clean(p)
	}
	if err := json.NewEncoder(os.Stdout).Encode(cleaned); err != nil {
		os.Exit(1)
	}
}
