set terminal png size 1400,1000
set output 'scale.png'
set multiplot layout 2,2
set logscale x; set xrange [0.7:1500]; set xlabel 'instances'; set key top left
set title 'master CPU, % of a core (user space)'; set ylabel '%'
plot 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 100 ? $2 : 1/0):4 with linespoints title 'vrrpd-xdp 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 100 ? $2 : 1/0):4 with linespoints title 'vrrpd-socket 0.1s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 100 ? $2 : 1/0):4 with linespoints title 'keepalived 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 10 ? $2 : 1/0):4 with linespoints title 'vrrpd-xdp 0.01s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 10 ? $2 : 1/0):4 with linespoints title 'vrrpd-socket 0.01s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 10 ? $2 : 1/0):4 with linespoints title 'keepalived 0.01s'
set title 'backup CPU'; set ylabel '%'
plot 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 100 ? $2 : 1/0):5 with linespoints title 'vrrpd-xdp 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 100 ? $2 : 1/0):5 with linespoints title 'vrrpd-socket 0.1s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 100 ? $2 : 1/0):5 with linespoints title 'keepalived 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 10 ? $2 : 1/0):5 with linespoints title 'vrrpd-xdp 0.01s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 10 ? $2 : 1/0):5 with linespoints title 'vrrpd-socket 0.01s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 10 ? $2 : 1/0):5 with linespoints title 'keepalived 0.01s'
set title 'master CPU against the advert interval, 250 instances'
set xrange [0.007:1.5]; set xlabel 'advert_int (s)'; set ylabel '%'
plot 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $2 == 250 ? $3/1000.0 : 1/0):4 with linespoints title 'vrrpd-xdp', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $2 == 250 ? $3/1000.0 : 1/0):4 with linespoints title 'vrrpd-socket', 'scale.dat' using (strcol(1) eq 'keepalived' && $2 == 250 ? $3/1000.0 : 1/0):4 with linespoints title 'keepalived'
set title 'failover p100 minus Master\_Down\_Interval (ms)'
set xrange [0.7:1500]; set xlabel 'instances'; set ylabel 'ms'
plot 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 100 ? $2 : 1/0):10 with linespoints title 'vrrpd-xdp 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 100 ? $2 : 1/0):10 with linespoints title 'vrrpd-socket 0.1s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 100 ? $2 : 1/0):10 with linespoints title 'keepalived 0.1s', 'scale.dat' using (strcol(1) eq 'vrrpd-xdp' && $3 == 10 ? $2 : 1/0):10 with linespoints title 'vrrpd-xdp 0.01s', 'scale.dat' using (strcol(1) eq 'vrrpd-socket' && $3 == 10 ? $2 : 1/0):10 with linespoints title 'vrrpd-socket 0.01s', 'scale.dat' using (strcol(1) eq 'keepalived' && $3 == 10 ? $2 : 1/0):10 with linespoints title 'keepalived 0.01s'
unset multiplot
