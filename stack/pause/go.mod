module secretbench.local/stack/pause

go 1.24.0
