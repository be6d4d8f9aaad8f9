nothing-left.img: SC011 new-past-end: error: area 0 slot 0 offset 4096: record points past the end of the device: origin chunk 10 -> COW chunk 1000000 of 600 [fixed: drop the record]
nothing-left.img: SC011 new-past-end: error: area 0 slot 1 offset 4112: record points past the end of the device: origin chunk 6 -> COW chunk 1000001 of 600 [fixed: drop the record]
nothing-left.img: SC011 new-past-end: error: area 0 slot 2 offset 4128: record points past the end of the device: origin chunk 15 -> COW chunk 1000002 of 600 [fixed: drop the record]
nothing-left.img: SC011 new-past-end: error: area 0 slot 3 offset 4144: record points past the end of the device: origin chunk 7 -> COW chunk 1000003 of 600 [fixed: drop the record]
nothing-left.img: SC011 new-past-end: error: area 0 slot 4 offset 4160: record points past the end of the device: origin chunk 5 -> COW chunk 1000004 of 600 [fixed: drop the record]
nothing-left.img: SC019 nothing-left: error: no trustworthy record is left: all 5 records are damaged [fixed: mark the snapshot invalid]
nothing-left.img: valid, chunk size 8 sectors, 5 exceptions in 1 area, next free chunk 1000005, 8000040/4800 sectors allocated, 16 metadata, 0 leaked chunks
nothing-left.img: 6 errors, 0 warnings, 6 fixable
nothing-left.img: repaired: 1 metadata chunk written
nothing-left.img: SC005 header-invalid: warning: snapshot is marked invalid: the kernel reads no exceptions: offset 4: valid flag is 0
nothing-left.img: invalid, chunk size 8 sectors, 0 exceptions in 0 areas, next free chunk 0, 0/4800 sectors allocated, 0 metadata, 0 leaked chunks
nothing-left.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
