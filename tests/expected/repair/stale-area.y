stale-area.img: SC018 stale-area: warning: area after the list end holds live-looking records (the kernel zeroes it before use): area 1 (offset 1056768): 1 live-looking record [fixed: zero the area]
stale-area.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
stale-area.img: 0 errors, 1 warning, 1 fixable
stale-area.img: repaired: 1 metadata chunk written
stale-area.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
stale-area.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
