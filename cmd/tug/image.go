package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/runtime/image"
	"github.com/tug-sh/tug/runtime/image/imagebuild"
)

const imageUsage = `Usage:
  tug image pull REF            pull an image into the node's store
  tug image ls                  list the images (REPOSITORY TAG IMAGE ID SIZE)
  tug image rm REF...           remove tags or images (by reference, ID or ID prefix)
  tug image import FILE         add the images of a docker-save or OCI-layout archive
                                (tar, tar.gz or an OCI layout directory)
  tug image inspect REF         print an image's record (JSON)
  tug image build-busybox -o FILE --tag REF
                                write a busybox-static image archive (no registry needed)

The store is <data-dir>/images, shared with a running agent.

Flags:
`

// runImage manages the node's image store, like crictl's image commands.
func runImage(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug image", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.SetInterspersed(true)
	dataDir := fs.String("data-dir", image.DefaultDataDir, "the node agent's data directory")
	insecure := fs.StringSlice("insecure-registry", nil, "registry (host[:port]) reached over plain HTTP or unverified HTTPS (pull)")
	mirrors := fs.StringSlice("registry-mirror", nil, "Docker Hub mirror tried before docker.io (pull)")
	dockerConfig := fs.String("docker-config", "", "docker config.json with registry credentials (default: $DOCKER_CONFIG, ~/.docker)")
	quiet := fs.BoolP("quiet", "q", false, "pull: no progress; ls: image IDs only")
	verbose := fs.BoolP("verbose", "v", false, "log what the store does")
	tag := fs.String("tag", "", "import: tag for a single-image archive; build-busybox: the image's name")
	output := fs.StringP("output", "o", "", "build-busybox: archive to write")
	format := fs.String("format", "docker", "build-busybox: archive format, docker or oci")
	cmd := fs.String("cmd", "", "build-busybox: the image's command, split on spaces (default sh)")
	ports := fs.StringSlice("port", nil, "build-busybox: exposed port, e.g. 80/tcp")
	fs.Usage = func() {
		fmt.Fprint(io.err, imageUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("tug image: give a subcommand")
	}
	sub, rest := rest[0], rest[1:]
	if sub == "build-busybox" {
		return buildBusybox(ctx, io.out, *output, *tag, imagebuild.Format(*format), *cmd, *ports)
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	store, err := image.Open(image.Config{
		Root:               image.RootIn(*dataDir),
		Logger:             slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: level})),
		InsecureRegistries: *insecure,
		RegistryMirrors:    *mirrors,
		DockerConfig:       *dockerConfig,
	})
	if err != nil {
		return err
	}
	defer store.Close()

	switch sub {
	case "pull":
		if len(rest) != 1 {
			return errors.New("usage: tug image pull REF")
		}
		var opts image.PullOptions
		if !*quiet {
			opts.Progress = func(p image.Progress) { fmt.Fprintln(io.err, p) }
		}
		res, err := store.Pull(ctx, rest[0], opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "Image is up to date for %s\n", res.Image.ID)
		return nil
	case "ls", "list":
		images, err := store.List()
		if err != nil {
			return err
		}
		if *quiet {
			for _, img := range images {
				fmt.Fprintln(io.out, img.ID)
			}
			return nil
		}
		return image.WriteTable(io.out, images)
	case "rm", "rmi", "remove":
		if len(rest) == 0 {
			return errors.New("usage: tug image rm REF...")
		}
		var errs []error
		for _, ref := range rest {
			res, err := store.Remove(ctx, ref)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, u := range res.Untagged {
				fmt.Fprintf(io.out, "Untagged: %s\n", u)
			}
			if res.Deleted != "" {
				fmt.Fprintf(io.out, "Deleted: %s\n", res.Deleted)
			}
		}
		return errors.Join(errs...)
	case "import", "load":
		if len(rest) != 1 {
			return errors.New("usage: tug image import FILE [--tag REF]")
		}
		images, err := store.Import(ctx, rest[0], image.ImportOptions{Tag: *tag})
		for _, img := range images {
			if len(img.RepoTags) == 0 {
				fmt.Fprintf(io.out, "Loaded image ID: %s\n", img.ID)
			}
			for _, t := range img.RepoTags {
				fmt.Fprintf(io.out, "Loaded image: %s\n", t)
			}
		}
		return err
	case "inspect":
		if len(rest) != 1 {
			return errors.New("usage: tug image inspect REF")
		}
		img, err := store.Get(rest[0])
		if err != nil {
			return err
		}
		return writeImageJSON(io.out, img)
	}
	fs.Usage()
	return fmt.Errorf("tug image: unknown subcommand %q", sub)
}

func buildBusybox(ctx context.Context, out io.Writer, path, ref string, format imagebuild.Format, cmd string, ports []string) error {
	if path == "" || ref == "" {
		return errors.New("usage: tug image build-busybox -o FILE --tag REF [--format docker|oci] [--cmd 'httpd -f -p 80 -h /www'] [--port 80/tcp]")
	}
	id, err := imagebuild.WriteBusyboxArchive(ctx, path, ref, format, imagebuild.BusyboxOptions{Cmd: strings.Fields(cmd), ExposedPorts: ports})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %s: %s (%s, %s archive)\n", path, ref, id, format)
	return nil
}

func writeImageJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
