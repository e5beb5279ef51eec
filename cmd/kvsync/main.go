// Command kvsync manages Kong Konnect secrets configuration declaratively:
// config stores and their secrets, vaults and plugins, from one YAML file.
//
//	kvsync diff [FILE...]      show what sync would change
//	kvsync sync [FILE...]      apply it
//	kvsync validate [FILE...]  check files (--online: against the control plane)
//	kvsync dump [-o FILE]      write the live state as a kvsync file
//	kvsync version
//	kvsync completion bash|zsh|fish
//	kvsync help [COMMAND]
//
// main stays thin: run holds the program, so that tests call it in-process
// and testscript runs it as the kvsync command.
package main

import "os"

// version is stamped by the Makefile and goreleaser with -ldflags
// "-X main.version=…"; empty, the build info says (see kvsyncVersion).
var version string

func main() {
	tuneGC()
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
