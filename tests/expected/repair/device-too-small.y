device-too-small.img: SC004 device-too-small: fatal: device cannot hold a header, an area and a data chunk: device of 1024 bytes
device-too-small.img: unknown, chunk size 0 sectors, 0 exceptions in 0 areas, next free chunk 0, 0/2 sectors allocated, 0 metadata, 0 leaked chunks
device-too-small.img: 1 error, 0 warnings, 0 fixable
Exit status is 4
