"""The worker side: image bundle import, kernel set-up, containerd's gRPC answers, directory watching."""
