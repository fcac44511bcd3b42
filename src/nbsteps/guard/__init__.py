"""The dashboard server's defences against hostile or careless clients.

- options: who may connect and how many pages may be open, from the command line.
- access: every request names an allowed host and carries the token, if there is one.
- frames: kernel websockets speak v1, and a frame that does not parse closes the socket.
- kernels: bounded page kernels, and none kept for a browser that is not there.
- connect: in a page's kernel, start the costly parts only once its browser connects.
- app: Voila with all of the above, as `nbsteps dashboard` starts it.
"""
