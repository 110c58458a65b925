// Package imagebuild makes small container images from files of this
// machine, with no registry and no network: the busybox image tug's tests
// and demo run (Debian's busybox-static plus one symlink per applet), image
// layers from tar entries, and docker-save or OCI-layout archives of images
// for `tug image import`.
//
// It is part of the image mechanism (the only users of
// go-containerregistry are runtime/image and its subpackages) and does not
// import runtime/image, so that package's tests can use it.
package imagebuild
