# gnuplot bench/plots/matrix.gp (from the repository root): the README's charts.
set terminal pngcairo size 900,560
set datafile missing 'NaN'
set logscale x 2
set grid
set key right bottom
set xlabel 'concurrency (loop: --max-inflight, threads: --threads)'
set output 'bench/plots/rate.png'
set title 'pages/s vs concurrency (20,000 x 8 KB pages; 2 cores shared with the server)'
set ylabel 'pages/s'
plot 'bench/plots/matrix.dat' using 1:2 with linespoints lw 2 title 'loop, 0 ms', \
     '' using 1:3 with linespoints lw 2 title 'loop, 50 ms', \
     '' using 1:4 with linespoints lw 2 title 'loop, 200 ms', \
     '' using 1:5 with linespoints dt 2 title 'threads, 0 ms', \
     '' using 1:6 with linespoints dt 2 title 'threads, 50 ms', \
     '' using 1:7 with linespoints dt 2 title 'threads, 200 ms'
set output 'bench/plots/rss.png'
set title 'peak RSS vs concurrency, 0 ms (before the --max-buffer change; see README)'
set ylabel 'MB'
plot 'bench/plots/matrix.dat' using 1:8 with linespoints lw 2 title 'loop', \
     '' using 1:9 with linespoints dt 2 title 'threads'
