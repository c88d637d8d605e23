from hazmat.cli import main

main()
