"""What a share link looks like outside the live room: QR codes and posters (images made on
the server, cached)."""
