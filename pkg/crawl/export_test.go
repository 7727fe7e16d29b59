package crawl

// SetLargeManifest sets the manifest size past which a full read of the
// applied state waits for the build, until the test ends.
func SetLargeManifest(cleanup func(func()), n int64) {
	old := largeManifest
	largeManifest = n
	cleanup(func() { largeManifest = old })
}
