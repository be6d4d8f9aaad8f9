end-past-device.img: SC017 end-past-device: error: area 0 slot 255 offset 8176: last area is full and the next one is past the device: activation fails: area 1 would start at chunk 258 of 258 [fixed: drop the last record so that the list ends inside its area]
end-past-device.img: valid, chunk size 8 sectors, 256 exceptions in 2 areas, next free chunk 259, 2072/2064 sectors allocated, 24 metadata, 0 leaked chunks
end-past-device.img: 1 error, 0 warnings, 1 fixable
end-past-device.img: repaired: 1 metadata chunk written
end-past-device.img: valid, chunk size 8 sectors, 255 exceptions in 1 area, next free chunk 257, 2056/2064 sectors allocated, 16 metadata, 0 leaked chunks
end-past-device.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
