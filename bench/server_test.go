package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// childEnv, set in the environment of the test binary, makes it serve
// instead of testing: see serveChild.
const childEnv = "CONFLICT_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		serveChild()
		return
	}
	os.Exit(m.Run())
}

// A docServer is a conflicttest server the contention runs write to: in
// this process (exact statistics, for the tests) or in a child process
// (for the rounds: the CPU time this process uses is then the clients'
// alone, and the server's is read apart).
type docServer interface {
	URL() string
	PutDocument(id, body string)
	Document(id string) []byte
	ResetStats()
	Requests() map[string]int
	// CPU is the server's CPU time so far (user + system), or -1 when the
	// server shares this process.
	CPU() time.Duration
}

// localServer is a conflicttest.Server in this process.
type localServer struct{ *conflicttest.Server }

func (s localServer) URL() string                 { return s.Server.URL }
func (s localServer) PutDocument(id, body string) { s.Server.PutDocument(id, body) }
func (s localServer) Document(id string) []byte   { b, _, _ := s.Server.Document(id); return b }
func (s localServer) Requests() map[string]int    { return s.Stats().Requests }
func (s localServer) CPU() time.Duration          { return -1 }

// childServer is the test binary itself, started with childEnv=1: a
// conflicttest.Server (default options) and the happy-path handler under
// /happy/, with a control API under /_ctl/. It exits when its stdin
// closes.
type childServer struct {
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	hc    *http.Client
}

// startChild starts the server process and waits for its address.
func startChild(tb testing.TB) *childServer {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		cmd.Wait()
		tb.Fatalf("server process: %v", err)
	}
	s := &childServer{url: strings.TrimSpace(line), cmd: cmd, stdin: stdin,
		hc: &http.Client{Transport: newTransport(1), Timeout: time.Minute}}
	tb.Cleanup(func() {
		s.hc.CloseIdleConnections()
		stdin.Close()
		cmd.Wait()
	})
	return s
}

func (s *childServer) URL() string { return s.url }

func (s *childServer) ctl(method, path, body string) []byte {
	req, err := http.NewRequest(method, s.url+"/_ctl/"+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		panic(fmt.Sprintf("server process: %s %s: %v", method, path, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		panic(fmt.Sprintf("server process: %s %s: %s %v: %s", method, path, resp.Status, err, b))
	}
	return b
}

func (s *childServer) PutDocument(id, body string) { s.ctl(http.MethodPut, "documents/"+id, body) }
func (s *childServer) Document(id string) []byte   { return s.ctl(http.MethodGet, "documents/"+id, "") }
func (s *childServer) ResetStats()                 { s.ctl(http.MethodPost, "reset", "") }

func (s *childServer) Requests() map[string]int {
	var m map[string]int
	if err := json.Unmarshal(s.ctl(http.MethodGet, "requests", ""), &m); err != nil {
		panic(err)
	}
	return m
}

func (s *childServer) CPU() time.Duration {
	n, err := strconv.ParseInt(string(s.ctl(http.MethodGet, "cpu", "")), 10, 64)
	if err != nil {
		panic(err)
	}
	return time.Duration(n)
}

// serveChild is the server process: it prints its URL and serves until
// its stdin closes.
func serveChild() {
	srv := conflicttest.NewUnstartedServer()
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("/happy/", happyHandler())
	mux.HandleFunc("PUT /_ctl/documents/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		srv.PutDocument(r.PathValue("id"), string(b))
	})
	mux.HandleFunc("GET /_ctl/documents/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _, ok := srv.Document(r.PathValue("id"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("POST /_ctl/reset", func(w http.ResponseWriter, r *http.Request) { srv.ResetStats() })
	mux.HandleFunc("GET /_ctl/requests", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(srv.Stats().Requests)
	})
	mux.HandleFunc("GET /_ctl/cpu", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, int64(cpuTime()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	(&http.Server{Handler: mux}).Serve(ln)
}
