// Package testnet runs a whole palmtill store on one machine — real kiosk processes, a reference
// cloud receiver — and breaks it on purpose: kill, stop, restart, pause. Everything listens on
// 127.0.0.1 only. The demo (cmd/testnet demo) and the process-level tests are built on it.
package testnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/palmtill/palmtill/node"
)

// Binaries are the built executables a harness runs.
type Binaries struct {
	Palmtill, Palmctl, Palmcloud string
}

// ModuleRoot finds the directory holding palmtill's go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/palmtill/palmtill") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("palmtill module root not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles palmtill, palmctl and palmcloud into binDir.
func Build(ctx context.Context, binDir string, race bool) (Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return Binaries{}, err
	}
	args := []string{"build", "-o", binDir + string(os.PathSeparator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/palmtill", "./cmd/palmctl", "./cmd/palmcloud")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return Binaries{
		Palmtill:  filepath.Join(binDir, "palmtill"),
		Palmctl:   filepath.Join(binDir, "palmctl"),
		Palmcloud: filepath.Join(binDir, "palmcloud"),
	}, nil
}

// FreePort returns a port on 127.0.0.1 free for both TCP and UDP at the time of the call.
func FreePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both tcp and udp")
}

// Proc is one child process the harness controls.
type Proc struct {
	Name string
	Args []string
	bin  string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs the process, appending its output to its log file.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.Name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.Args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		f.Close()
		close(done)
	}(cmd, p.done)
	return nil
}

// Running reports whether the process was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig and, when wait is set, waits up to timeout for the exit (then SIGKILLs).
func (p *Proc) signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	p.cmd = nil
	p.mu.Unlock()
	return nil
}

// Kill ends the process with SIGKILL: no cleanup, like a power cut.
func (p *Proc) Kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop ends the process with SIGTERM and waits for its graceful shutdown.
func (p *Proc) Stop() error { return p.signal(syscall.SIGTERM, 20*time.Second) }

// Pause freezes the process (SIGSTOP); Resume thaws it.
func (p *Proc) Pause() error { return p.sendOnly(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Proc) Resume() error { return p.sendOnly(syscall.SIGCONT) }

func (p *Proc) sendOnly(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// LogTail returns the last n bytes of the process's log, for failure reports.
func (p *Proc) LogTail(n int64) string {
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Size() > n {
		f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Kiosk is one palmtill node process of the store.
type Kiosk struct {
	*Proc
	HTTPAddr, GossipAddr, P2PAddr, DataDir string
	Client                                 *node.Client
}

// Store is a local store: a secret, kiosks and a cloud receiver, under one directory.
type Store struct {
	Dir, StoreID, SecretFile string
	Bins                     Binaries
	Kiosks                   []*Kiosk
	Cloud                    *Proc
	CloudAddr                string
	Secret                   []byte
	// ExtraArgs are appended to every kiosk's command line.
	ExtraArgs []string
}

// NewStore prepares dir (secret file, log folder) for a store named storeID.
func NewStore(dir, storeID string, bins Binaries) (*Store, error) {
	var b [32]byte
	rand.Read(b[:])
	secret := []byte(hex.EncodeToString(b[:]))
	s := &Store{Dir: dir, StoreID: storeID, Bins: bins, SecretFile: filepath.Join(dir, "store.secret"), Secret: secret}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.SecretFile, append(secret, '\n'), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// AdminToken is the token palmctl derives from the store's secret.
func (s *Store) AdminToken() string { return node.AdminToken(s.Secret, s.StoreID) }

// StartCloud starts the reference cloud receiver (or restarts it on the same database).
func (s *Store) StartCloud() error {
	if s.Cloud == nil {
		port, err := FreePort()
		if err != nil {
			return err
		}
		s.CloudAddr = fmt.Sprintf("127.0.0.1:%d", port)
		s.Cloud = &Proc{Name: "cloud", bin: s.Bins.Palmcloud, log: filepath.Join(s.Dir, "logs", "cloud.log"),
			Args: []string{"--listen", s.CloudAddr, "--db", filepath.Join(s.Dir, "cloud.db")}}
	}
	if err := s.Cloud.Start(); err != nil {
		return err
	}
	return waitHTTP("http://"+s.CloudAddr+"/healthz", 15*time.Second)
}

// AddKiosk defines kiosk number i (not yet started). bootstrapExpect is passed as is; join lists
// gossip addresses to contact.
func (s *Store) AddKiosk(bootstrapExpect int, join []string) (*Kiosk, error) {
	var ports [3]int
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	name := fmt.Sprintf("kiosk-%d", len(s.Kiosks)+1)
	k := &Kiosk{
		HTTPAddr:   fmt.Sprintf("127.0.0.1:%d", ports[0]),
		GossipAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		P2PAddr:    fmt.Sprintf("127.0.0.1:%d", ports[2]),
		DataDir:    filepath.Join(s.Dir, name),
	}
	args := []string{"run", "--name", name, "--data-dir", k.DataDir, "--store-id", s.StoreID,
		"--secret-file", s.SecretFile, "--http-addr", k.HTTPAddr, "--gossip-addr", k.GossipAddr,
		"--p2p-addr", k.P2PAddr, "--bootstrap-expect", fmt.Sprint(bootstrapExpect), "--scanner", "sim",
		"--log-level", "info"}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	if s.CloudAddr != "" {
		args = append(args, "--cloud-url", "http://"+s.CloudAddr)
	}
	args = append(args, s.ExtraArgs...)
	k.Proc = &Proc{Name: name, bin: s.Bins.Palmtill, log: filepath.Join(s.Dir, "logs", name+".log"), Args: args}
	k.Client = node.NewClient(k.HTTPAddr, s.AdminToken())
	k.Client.HTTP = httpClient()
	s.Kiosks = append(s.Kiosks, k)
	return k, nil
}

// GossipAddrs lists the gossip addresses of the store's kiosks.
func (s *Store) GossipAddrs() []string {
	out := make([]string, 0, len(s.Kiosks))
	for _, k := range s.Kiosks {
		out = append(out, k.GossipAddr)
	}
	return out
}

// Close kills every process of the store.
func (s *Store) Close() {
	for _, k := range s.Kiosks {
		k.Stop()
	}
	if s.Cloud != nil {
		s.Cloud.Stop()
	}
}

// Palmctl runs the palmctl binary against kiosk k with the store's secret and returns its output.
func (s *Store) Palmctl(ctx context.Context, k *Kiosk, args ...string) (string, error) {
	full := append([]string{"--api", k.HTTPAddr, "--secret-file", s.SecretFile, "--store-id", s.StoreID}, args...)
	out, err := exec.CommandContext(ctx, s.Bins.Palmctl, full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("palmctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
