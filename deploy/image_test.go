package deploy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// entrypoint returns the Dockerfile's ENTRYPOINT (exec form) and the ENV
// it sets.
func entrypoint(t *testing.T) (args []string, env map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n") {
		keyword, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch keyword {
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &args); err != nil {
				t.Fatalf("ENTRYPOINT %s is not the exec form (a JSON array): %v", rest, err)
			}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		}
	}
	if len(args) == 0 {
		t.Fatal("the Dockerfile has no ENTRYPOINT")
	}
	return args, env
}

// build builds the main package in dir (relative to the repository's
// root) with the go command, as `go build` in a user's module does.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", filepath.FromSlash(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// TestTheImageStartsAnyServerMainProgram runs the example server's binary
// and examples/notes' (a server.Main program of another module, as a
// user's service is) with the Dockerfile's entrypoint arguments, no
// container runtime being needed for that: the image that starts the
// example server starts a user's server.Main program too, with the
// settings of its environment.
func TestTheImageStartsAnyServerMainProgram(t *testing.T) {
	args, env := entrypoint(t)
	for _, dir := range []string{"cmd/grpc-azure-auth", "examples/notes"} {
		t.Run(dir, func(t *testing.T) { startsWith(t, build(t, dir), args[1:], env) })
	}
}

// startsWith runs bin with args and the image's environment env.
func startsWith(t *testing.T, bin string, args []string, env map[string]string) {
	home := t.TempDir() // no .env, an empty user cache directory

	t.Run("its flags parse", func(t *testing.T) {
		cmd := exec.Command(bin, append(args, "-h")...)
		cmd.Dir, cmd.Env = home, []string{"HOME=" + home}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "GRPC_ADDR") {
			t.Fatalf("%s %s -h: %v\n%s", bin, strings.Join(args, " "), err, out)
		}
	})

	t.Run("it serves until SIGTERM, then exits cleanly", func(t *testing.T) {
		// The image's settings, on loopback ports of the test's own.
		environ := []string{"HOME=" + home, "XDG_CACHE_HOME=" + home}
		for k := range env {
			if strings.HasSuffix(k, "_ADDR") {
				environ = append(environ, k+"=127.0.0.1:0")
			} else {
				environ = append(environ, k+"="+env[k])
			}
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = home, environ
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		serving := make(chan string, 1)
		go func() {
			httpURL := regexp.MustCompile(`msg=serving .*http=(http://127\.0\.0\.1:[0-9]+)`)
			var lines []string
			scanner := bufio.NewScanner(stderr)
			for scanner.Scan() {
				lines = append(lines, scanner.Text())
				if m := httpURL.FindStringSubmatch(scanner.Text()); m != nil {
					serving <- m[1]
				}
			}
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, strings.Join(lines, "\n"))
			}
			exited <- err
		}()
		t.Cleanup(func() { cmd.Process.Kill() })
		select {
		case url := <-serving:
			resp, err := http.Get(url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /healthz: %s", resp.Status)
			}
		case err := <-exited:
			t.Fatalf("%s %s exited before serving: %v", bin, strings.Join(args, " "), err)
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not log that it serves within 30 s")
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the server did not exit within 30 s of SIGTERM")
		}
	})
}
