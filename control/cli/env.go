package cli

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/control/client"
)

// globalFlags are accepted by every command.
type globalFlags struct {
	server    string
	namespace string
	insecure  bool
}

func (g *globalFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&g.server, "server", "s", "", "the API server: host:port or URL (default $"+client.EnvServer+", else "+client.DefaultServer+")")
	fs.StringVarP(&g.namespace, "namespace", "n", "", "the namespace (default \"default\")")
	fs.BoolVar(&g.insecure, "insecure-skip-tls-verify", false, "do not verify the certificate of an https API server")
}

// env is what a running command reaches the world through.
type env struct {
	Streams
	opts   Options
	global *globalFlags
	dashAt int // index of the first argument after "--", or -1
	client *client.Client
}

// defaultNamespace is used when -n is not given.
const defaultNamespace = "default"

// namespace returns the namespace to use and whether -n chose it.
func (e *env) namespace() (string, bool) {
	if e.global.namespace != "" {
		return e.global.namespace, true
	}
	return defaultNamespace, false
}

func (e *env) now() time.Time {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Now()
}

// getenv reads the environment through Options.
func (e *env) getenv(key string) string {
	if e.opts.Getenv == nil {
		return ""
	}
	return e.opts.Getenv(key)
}

// connect builds the API client on first use.
func (e *env) connect() (*client.Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	server, err := client.ServerURL(e.global.server, e.getenv)
	if err != nil {
		return nil, err
	}
	c, err := client.New(server, client.Options{Warnings: e.ErrOut, InsecureSkipTLSVerify: e.global.insecure})
	if err != nil {
		return nil, err
	}
	e.client = c
	return c, nil
}

// mapper connects and discovers the server's resources.
func (e *env) mapper(ctx context.Context) (*client.Client, *client.Mapper, error) {
	c, err := e.connect()
	if err != nil {
		return nil, nil, err
	}
	m, err := c.Mapper(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}
