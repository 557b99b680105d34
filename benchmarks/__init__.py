"""leadops benchmarks: every performance ratio measured side by side in one run (`make bench`)."""
