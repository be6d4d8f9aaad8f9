header-invalid.img: SC005 header-invalid: warning: snapshot is marked invalid: the kernel reads no exceptions: offset 4: valid flag is 0
header-invalid.img: invalid, chunk size 8 sectors, 0 exceptions in 0 areas, next free chunk 0, 0/4800 sectors allocated, 0 metadata, 0 leaked chunks
header-invalid.img: 0 errors, 1 warning, 0 fixable
Exit status is 0
