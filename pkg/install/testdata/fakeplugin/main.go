// Command fakeplugin stands in for the bond plugin in the installer's tests.
// Link-time variables pick its behaviour so one source gives several
// distinct binaries.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

var (
	// version tells two builds apart after an upgrade.
	version = "v0"
	// behaviour is "good", "fails" (exit 1) or "garbage" (not JSON).
	behaviour = "good"
)

func main() {
	switch {
	case os.Getenv("CNI_COMMAND") == "VERSION":
		answerVersion()
	case os.Getenv("FAKE_PLUGIN_HOLD") == "1":
		holdUntilReleased()
	default:
		fmt.Println(version)
	}
}

func answerVersion() {
	_, _ = io.ReadAll(os.Stdin)
	switch behaviour {
	case "fails":
		fmt.Fprintln(os.Stderr, "fake plugin refuses VERSION")
		os.Exit(1)
	case "garbage":
		fmt.Println("this is not JSON")
	default:
		fmt.Println(`{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}`)
	}
}

// holdUntilReleased keeps this process executing its binary until the test
// writes a line, so the test can replace the file under a running process.
func holdUntilReleased() {
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "fake plugin: read stdin:", err)
		os.Exit(2)
	}
	fmt.Println(version)
}
